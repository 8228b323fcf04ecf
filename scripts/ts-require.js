// Lets plain `node` scripts require the project's TypeScript: each .ts file is transpiled on the fly with the
// project's own compiler (no type check, nothing built). Used by the render-*.js scripts the Python tests call.
"use strict";
const fs = require("fs");
const ts = require("typescript");

require.extensions[".ts"] = (module, filename) => {
    const source = fs.readFileSync(filename, "utf8");
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
    module._compile(outputText, filename);
};
