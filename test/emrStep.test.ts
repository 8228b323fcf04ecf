import {
    AddJobFlowStepsCommand,
    CancelStepsCommand,
    DescribeStepCommand,
    EMRClient,
    ListStepsCommand,
    RunJobFlowCommand,
} from "@aws-sdk/client-emr";
import { mockClient } from "aws-sdk-client-mock";
import { EmrStepInputs, EmrStepOutputs, EmrStepProvider } from "../components/emr/stepProvider";
import { MotoServer, startMotoServer } from "./support/motoServer";

// The EMR step's lifecycle. What moto's EMR API implements (RunJobFlow, AddJobFlowSteps, DescribeStep,
// ListSteps) runs for real over HTTP against moto's server; CancelSteps, which moto does not implement, and
// the error paths run against an SDK-level mock (aws-sdk-client-mock).

process.env.AWS_ACCESS_KEY_ID = "testing";
process.env.AWS_SECRET_ACCESS_KEY = "testing";
delete process.env.AWS_PROFILE;

const REGION = "us-east-1";
const ARGS_V1 = ["spark-submit", "--deploy-mode", "cluster", "s3://bucket/artifacts/streaming-consumer/aaaa/main.py", "--topic", "events"];
const ARGS_V2 = ["spark-submit", "--deploy-mode", "cluster", "s3://bucket/artifacts/streaming-consumer/bbbb/main.py", "--topic", "events"];

const provider = new EmrStepProvider();

function inputs(over: Partial<EmrStepInputs> = {}): EmrStepInputs {
    return { clusterId: "j-NONE", name: "events-consumer", args: ARGS_V1, actionOnFailure: "CONTINUE", region: REGION, pollIntervalMs: 5, timeoutMs: 2000, ...over };
}

describe("diff", () => {
    const olds = { ...inputs({ clusterId: "j-1" }), stepId: "s-1", state: "RUNNING" } as EmrStepOutputs;

    test("new args or name are an update, not a replacement", async () => {
        expect(await provider.diff("s-1", olds, inputs({ clusterId: "j-1", args: ARGS_V2 }))).toMatchObject({ changes: true, replaces: [] });
        expect(await provider.diff("s-1", olds, inputs({ clusterId: "j-1", name: "renamed" }))).toMatchObject({ changes: true, replaces: [] });
    });

    test("a new cluster replaces the step, deleting the old one first", async () => {
        expect(await provider.diff("s-1", olds, inputs({ clusterId: "j-2" }))).toEqual({ changes: true, replaces: ["clusterId"], deleteBeforeReplace: true });
    });

    test("provider settings (wait bounds) alone never restart the consumer", async () => {
        expect(await provider.diff("s-1", olds, inputs({ clusterId: "j-1", pollIntervalMs: 99, timeoutMs: 1 }))).toMatchObject({ changes: false });
    });
});

describe("against moto's EMR API", () => {
    let moto: MotoServer;
    let clusterId: string;
    let direct: EMRClient;
    const onMoto = (over: Partial<EmrStepInputs> = {}): EmrStepInputs => inputs({ clusterId, endpoint: moto.endpoint, ...over });

    beforeAll(async () => {
        moto = await startMotoServer();
        direct = new EMRClient({ region: REGION, endpoint: moto.endpoint });
        const flow = await direct.send(
            new RunJobFlowCommand({
                Name: "spark-streaming-test",
                ReleaseLabel: "emr-7.12.0",
                Applications: [{ Name: "Hadoop" }, { Name: "Spark" }],
                Instances: { MasterInstanceType: "m7g.xlarge", SlaveInstanceType: "m7g.xlarge", InstanceCount: 3, KeepJobFlowAliveWhenNoSteps: true },
                JobFlowRole: "emr-instance-profile",
                ServiceRole: "emr-service-role",
                StepConcurrencyLevel: 5,
            }),
        );
        clusterId = flow.JobFlowId!;
    });

    afterAll(async () => {
        direct?.destroy();
        await moto?.stop();
    });

    test("create adds the step with command-runner and the given args; read reports it", async () => {
        const created = await provider.create(onMoto());
        expect(created.id).toMatch(/^s-/);
        expect(created.outs).toMatchObject({ stepId: created.id, clusterId, args: ARGS_V1 });

        const listed = await direct.send(new ListStepsCommand({ ClusterId: clusterId, StepIds: [created.id] }));
        expect(listed.Steps).toHaveLength(1);
        expect(listed.Steps![0]).toMatchObject({ Name: "events-consumer", ActionOnFailure: "CONTINUE" });
        expect(listed.Steps![0].Config).toMatchObject({ Jar: "command-runner.jar", Args: ARGS_V1 });

        const read = await provider.read(created.id, created.outs!);
        expect(read.id).toBe(created.id);
        expect(read.props!.state).toBe(listed.Steps![0].Status!.State);
        expect(["PENDING", "RUNNING"]).toContain(read.props!.state);
    });

    describe("with CancelSteps (which moto lacks) mocked at the SDK level", () => {
        // Everything else goes through to moto. Once a step is cancelled, EMR would report it CANCEL_PENDING and
        // then CANCELLED; moto cannot, so the mock answers DescribeStep for cancelled steps the way EMR does.
        const realSend = EMRClient.prototype.send as (this: unknown, command: unknown) => Promise<unknown>;
        let emr: ReturnType<typeof mockClient>;
        const cancelled = new Map<string, number>();

        beforeEach(() => {
            cancelled.clear();
            emr = mockClient(EMRClient);
            emr.send.callThrough();
            emr.on(CancelStepsCommand).callsFake((input) => {
                for (const id of input.StepIds) {
                    cancelled.set(id, 0);
                }
                return { CancelStepsInfoList: input.StepIds.map((id: string) => ({ StepId: id, Status: "SUBMITTED" })) };
            });
            emr.on(DescribeStepCommand).callsFake(async (input, getClient) => {
                const polls = cancelled.get(input.StepId);
                if (polls === undefined) {
                    return realSend.call(getClient(), new DescribeStepCommand(input));
                }
                cancelled.set(input.StepId, polls + 1);
                return { Step: { Id: input.StepId, Status: { State: polls < 2 ? "CANCEL_PENDING" : "CANCELLED" } } };
            });
        });

        afterEach(() => emr.restore());

        /** The commands the provider sent, in order, with the state each DescribeStep answered. */
        async function calls(): Promise<Array<{ command: string; stepId?: string; state?: string }>> {
            const out = [];
            for (const call of emr.send.getCalls()) {
                const command = call.args[0] as { constructor: { name: string }; input: any };
                const result = await Promise.resolve(call.returnValue).catch(() => undefined);
                out.push({
                    command: command.constructor.name,
                    stepId: command.input.StepId ?? command.input.StepIds?.[0],
                    state: (result as any)?.Step?.Status?.State,
                });
            }
            return out;
        }

        test("an update cancels the running step (SIGTERM), waits until it stopped, then adds the new one", async () => {
            const first = await provider.create(onMoto());
            emr.resetHistory();

            const updated = await provider.update(first.id, first.outs!, onMoto({ args: ARGS_V2 }));
            const newId = updated.outs!.stepId;
            expect(newId).toMatch(/^s-/);
            expect(newId).not.toBe(first.id);

            const log = await calls();
            const cancelAt = log.findIndex((c) => c.command === "CancelStepsCommand");
            const stoppedAt = log.findIndex((c) => c.command === "DescribeStepCommand" && c.stepId === first.id && c.state === "CANCELLED");
            const addAt = log.findIndex((c) => c.command === "AddJobFlowStepsCommand");
            expect(cancelAt).toBeGreaterThanOrEqual(0);
            expect(log[cancelAt].stepId).toBe(first.id);
            // It polled through CANCEL_PENDING rather than trusting the cancel request.
            expect(log.filter((c) => c.stepId === first.id && c.state === "CANCEL_PENDING")).toHaveLength(2);
            expect(stoppedAt).toBeGreaterThan(cancelAt);
            expect(addAt).toBeGreaterThan(stoppedAt);
            expect(emr.commandCalls(CancelStepsCommand)[0].args[0].input.StepCancellationOption).toBe("SEND_INTERRUPT");

            // The new step is real, on moto, with the new args.
            const listed = await direct.send(new ListStepsCommand({ ClusterId: clusterId, StepIds: [newId] }));
            expect(listed.Steps![0].Config!.Args).toEqual(ARGS_V2);
            expect(updated.outs).toMatchObject({ args: ARGS_V2, stepId: newId });
        });

        test("a delete cancels the step and returns only once it stopped", async () => {
            const created = await provider.create(onMoto());
            await provider.delete(created.id, created.outs!);
            expect(emr.commandCalls(CancelStepsCommand).map((c) => c.args[0].input.StepIds)).toEqual([[created.id]]);
            const read = await provider.read(created.id, created.outs!);
            expect(read.props!.state).toBe("CANCELLED");
        });

        test("a delete after an update cancels the step now running, not the first one", async () => {
            const first = await provider.create(onMoto());
            const updated = await provider.update(first.id, first.outs!, onMoto({ args: ARGS_V2 }));
            emr.resetHistory();
            await provider.delete(first.id, updated.outs as EmrStepOutputs);
            expect(emr.commandCalls(CancelStepsCommand).map((c) => c.args[0].input.StepIds)).toEqual([[updated.outs!.stepId]]);
        });
    });
});

describe("with the SDK mocked", () => {
    let emr: ReturnType<typeof mockClient>;
    const outs = (over: Partial<EmrStepOutputs> = {}): EmrStepOutputs => ({ ...inputs({ clusterId: "j-ABC" }), stepId: "s-OLD", state: "RUNNING", ...over });
    const awsError = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: "client", $metadata: {} });

    beforeEach(() => {
        emr = mockClient(EMRClient);
    });
    afterEach(() => emr.restore());

    test("a step that already stopped is not cancelled again on delete", async () => {
        emr.on(DescribeStepCommand).resolves({ Step: { Id: "s-OLD", Status: { State: "COMPLETED" } } });
        await provider.delete("s-OLD", outs());
        expect(emr.commandCalls(CancelStepsCommand)).toHaveLength(0);
    });

    test("a failed AddJobFlowSteps reports the cluster and AWS's message", async () => {
        emr.on(AddJobFlowStepsCommand).rejects(awsError("InvalidRequestException", "Cluster id 'j-GONE' is not valid."));
        await expect(provider.create(inputs({ clusterId: "j-GONE" }))).rejects.toThrow("EMR step (not yet added) on cluster j-GONE: Cluster id 'j-GONE' is not valid.");
    });

    test("a failed DescribeStep reports the step id and AWS's message", async () => {
        emr.on(DescribeStepCommand).rejects(awsError("InvalidRequestException", "Step id 's-OLD' is not valid."));
        await expect(provider.read("s-OLD", outs())).rejects.toThrow("EMR step s-OLD on cluster j-ABC: Step id 's-OLD' is not valid.");
    });

    test("a refused cancellation reports the step id and AWS's reason, and adds no new step", async () => {
        emr.on(DescribeStepCommand).resolves({ Step: { Id: "s-OLD", Status: { State: "RUNNING" } } });
        emr.on(CancelStepsCommand).resolves({ CancelStepsInfoList: [{ StepId: "s-OLD", Status: "FAILED", Reason: "Step is in an unexpected state" }] });
        await expect(provider.update("s-OLD", outs(), inputs({ clusterId: "j-ABC", args: ARGS_V2 }))).rejects.toThrow(
            "EMR step s-OLD on cluster j-ABC: CancelSteps failed: Step is in an unexpected state",
        );
        expect(emr.commandCalls(AddJobFlowStepsCommand)).toHaveLength(0);
    });

    test("a CancelSteps that AWS rejects reports the step id and AWS's message", async () => {
        emr.on(DescribeStepCommand).resolves({ Step: { Id: "s-OLD", Status: { State: "RUNNING" } } });
        emr.on(CancelStepsCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: elasticmapreduce:CancelSteps"));
        await expect(provider.delete("s-OLD", outs())).rejects.toThrow("EMR step s-OLD on cluster j-ABC: not authorized to perform: elasticmapreduce:CancelSteps");
    });

    test("a step that never stops fails the update after the timeout, before any new step is added", async () => {
        emr.on(DescribeStepCommand).resolves({ Step: { Id: "s-OLD", Status: { State: "CANCEL_PENDING" } } });
        emr.on(CancelStepsCommand).resolves({ CancelStepsInfoList: [{ StepId: "s-OLD", Status: "SUBMITTED" }] });
        const started = Date.now();
        await expect(provider.update("s-OLD", outs({ timeoutMs: 50 }), inputs({ clusterId: "j-ABC", args: ARGS_V2, timeoutMs: 50 }))).rejects.toThrow(
            /EMR step s-OLD on cluster j-ABC: still CANCEL_PENDING .* after it was cancelled/,
        );
        expect(Date.now() - started).toBeLessThan(5000);
        expect(emr.commandCalls(AddJobFlowStepsCommand)).toHaveLength(0);
    });

    test("an update that changes only provider settings leaves the running step alone", async () => {
        const result = await provider.update("s-OLD", outs(), inputs({ clusterId: "j-ABC", pollIntervalMs: 1000 }));
        expect(emr.calls()).toHaveLength(0);
        expect(result.outs).toMatchObject({ stepId: "s-OLD", pollIntervalMs: 1000 });
    });
});
