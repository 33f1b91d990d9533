/**
 * A long-lived worker running xmllint (libxml2 compiled to WebAssembly, from xmllint-wasm). The package's own
 * `validateXML` starts a worker and compiles the 780 KB module for every call (~130 ms); here the module is
 * compiled once and each validation instantiates it afresh (a clean libxml2 and memory every time, so nothing
 * carries over between messages) in a few milliseconds.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

interface Job {
  id: number;
  files: Array<{ fileName: string; contents: string }>;
  args: string[];
}

type Factory = (m: Record<string, unknown>) => Promise<unknown>;

const require = createRequire(import.meta.url);
// Loading the Emscripten factory also registers the package's own message handler, which ignores every
// message not tagged as its own (ours are not).
const factory = require('xmllint-wasm/xmllint-node.js') as Factory;
const compiled = new WebAssembly.Module(readFileSync(require.resolve('xmllint-wasm/xmllint.wasm')));

function run(job: Job): Promise<{ id: number; exitCode: number; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    let settled = false;
    const done = (exitCode: number) => {
      if (settled) return;
      settled = true;
      resolve({ id: job.id, exitCode, stderr });
    };
    factory({
      inputFiles: job.files,
      arguments: job.args,
      print() {},
      printErr(text: string) {
        stderr += `${text}\n`;
      },
      onExit: done,
      onAbort(reason: unknown) {
        stderr += `WASM abort: ${String(reason)}\n`;
        done(-1);
      },
      wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 512 }),
      instantiateWasm(
        imports: WebAssembly.Imports,
        ok: (i: WebAssembly.Instance, m: WebAssembly.Module) => void,
      ) {
        WebAssembly.instantiate(compiled, imports).then((instance) => ok(instance, compiled));
        return {};
      },
    }).catch((err: unknown) => {
      // Emscripten rejects with its ExitStatus when main returns through exit(); onExit already answered.
      if (!settled) {
        stderr += String(err);
        done(-1);
      }
    });
  });
}

parentPort?.on('message', (job: Job & { janua?: boolean }) => {
  if (job?.janua !== true) return;
  void run(job).then((r) => parentPort?.postMessage({ ...r, janua: true }));
});
