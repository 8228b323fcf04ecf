import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOY_PARAMETERS, deployDocumentContent, renderArgsFile } from "./deployCommand";
import { checkImagePinned, renderEnvFile } from "./userData";

// The consumer on the master, delivered by SSM: a new image, setting or security revision updates the association,
// which runs the deploy command at once (stop the old driver, wait for it, write the settings, start the new one).

export interface ConsumerDeployArgs {
    readonly masterInstanceId: pulumi.Input<string>;
    readonly imageUri: pulumi.Input<string>;
    /** The consumer's env file entries (KAFKA_TOPICS, SPARK_EVENT_LOG_DIR). */
    readonly env: pulumi.Input<Record<string, string>>;
    readonly args: pulumi.Input<string[]>;
    /** The secrets' versions: a rotated secret restarts master, history server and driver. */
    readonly securityRevision: pulumi.Input<string>;
    /** `docker stop --time` and systemd's TimeoutStopSec for the consumer (`consumerStopTimeoutSeconds`). */
    readonly stopTimeoutSeconds: number;
}

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export function consumerDeploy(name: string, args: ConsumerDeployArgs, opts: pulumi.CustomResourceOptions): aws.ssm.Association {
    const document = new aws.ssm.Document(
        `${name}-deploy-consumer`,
        { documentType: "Command", documentFormat: "JSON", targetType: "/AWS::EC2::Instance", content: deployDocumentContent() },
        opts,
    );
    return new aws.ssm.Association(
        `${name}-consumer`,
        {
            name: document.name,
            documentVersion: document.latestVersion,
            targets: [{ key: "InstanceIds", values: [args.masterInstanceId] }],
            parameters: {
                [DEPLOY_PARAMETERS.imageUri]: pulumi.output(args.imageUri).apply(checkImagePinned),
                [DEPLOY_PARAMETERS.consumerEnv]: pulumi.output(args.env).apply((env) => base64(renderEnvFile(env))),
                [DEPLOY_PARAMETERS.consumerArgs]: pulumi.output(args.args).apply((a) => base64(renderArgsFile(a))),
                [DEPLOY_PARAMETERS.securityRevision]: args.securityRevision,
                // A systemd drop-in the deploy command installs, so a new grace period does not replace the master.
                [DEPLOY_PARAMETERS.stopTimeoutSeconds]: String(args.stopTimeoutSeconds),
            },
            // `up` fails if the consumer could not be (re)started, instead of reporting success; the old driver
            // may take its whole stop timeout to let its batch commit.
            waitForSuccessTimeoutSeconds: 2 * args.stopTimeoutSeconds + 900,
        },
        opts,
    );
}
