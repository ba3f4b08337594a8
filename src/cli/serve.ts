// vitkit serve --checkpoint PATH: an HTTP inference server with dynamic batching.
import { UserError } from '../errors.ts';
import { DEFAULT_LIMITS, createServer } from '../serve/server.ts';
import { startInferenceWorker } from '../serve/worker-runner.ts';
import { loadOptionsFromFlags, modelFlags, modelFlagsHelp, numberFlag, parseCommand, threadsFlag } from './args.ts';
import { localCheckpoint } from './hub-checkpoint.ts';
import { defaultBatch } from '../inference/classifier.ts';

const d = DEFAULT_LIMITS;
const help = `
Usage: vitkit serve --checkpoint PATH [--port 8080] [--max-batch 16] [--max-wait-ms 5] [--threads N] [options]

Serves the model over HTTP. Concurrent requests are batched: up to --max-batch images run together, and a
request waits at most --max-wait-ms for others to join it. SIGTERM or Ctrl-C stops accepting connections,
answers the requests already accepted, then exits.

Endpoints:
  POST /v1/classify[?top=K]  image bytes (Content-Type image/* or application/octet-stream) or multipart/form-data
                             → {"top": [{"label", "index", "prob"}], "model", "ms"}
  POST /v1/embed             same input → {"embedding": [...], "dim", "model", "ms"}
  GET  /v1/model             config, labels, preprocessing, batching settings
  GET  /healthz              {"status": "ok"}
  GET  /metrics              Prometheus text: requests, latency, batch sizes, queue depth

Server:
  --host H             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N             TCP port (default 8080; 0 picks a free one)
  --max-batch N        images per inference run (default ${d.maxBatch}; 64 on a GPU; 1 turns batching off)
  --max-wait-ms MS     longest wait for a batch to fill (default ${d.maxWaitMs})
  --max-queue N        waiting requests before answering 503 + Retry-After (default ${d.maxQueue})
  --max-body-mb MB     largest request body (default ${d.maxBodyBytes / 2 ** 20})
  --max-pixels N       largest image, width × height (default ${d.maxPixels})
  --timeout-ms MS      deadline per request (default ${d.timeoutMs})
${modelFlagsHelp}
`;

const options = {
  ...modelFlags,
  host: { type: 'string' },
  port: { type: 'string' },
  'max-batch': { type: 'string' },
  'max-wait-ms': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-body-mb': { type: 'string' },
  'max-pixels': { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<void> {
  const args = parseCommand('serve', argv, options, help);
  if (!args) return;
  const { values: v, positionals } = args;
  if (!v.checkpoint) throw new UserError('serve: --checkpoint PATH is required (see vitkit serve --help)');
  if (positionals.length) throw new UserError(`serve: unexpected argument '${positionals[0]}' (see vitkit serve --help)`);
  const port = numberFlag('port', v.port, 8080, { integer: true, min: 0 });
  const host = v.host ?? '127.0.0.1';
  const maxBatch = v['max-batch'] === undefined ? undefined : numberFlag('max-batch', v['max-batch'], 0, { integer: true, min: 1 });
  const otherLimits = {
    maxWaitMs: numberFlag('max-wait-ms', v['max-wait-ms'], d.maxWaitMs, { min: 0 }),
    maxQueue: numberFlag('max-queue', v['max-queue'], d.maxQueue, { integer: true, min: 1 }),
    maxBodyBytes: Math.round(numberFlag('max-body-mb', v['max-body-mb'], d.maxBodyBytes / 2 ** 20) * 2 ** 20),
    maxPixels: numberFlag('max-pixels', v['max-pixels'], d.maxPixels, { integer: true, min: 1 }),
    timeoutMs: numberFlag('timeout-ms', v['timeout-ms'], d.timeoutMs, { min: 1 }),
  };

  const worker = await startInferenceWorker(await localCheckpoint(v.checkpoint, v.revision), {
    load: loadOptionsFromFlags(v),
    threads: threadsFlag(v.threads),
  });
  // the worker resolved the device ('auto' included)
  const limits = { ...otherLimits, maxBatch: maxBatch ?? defaultBatch(worker.model.device === 'webgpu' ? 'webgpu' : 'cpu', d.maxBatch) };
  const app = await createServer({ model: worker.model, runner: worker.runner, limits, onClose: () => worker.close() });
  void worker.failure.then((e) => {
    // without its model the server can only fail requests: exit so a supervisor restarts it
    console.error(`vitkit serve: ${e.message}`);
    process.exit(1);
  });
  const url = await app.listen({ host, port }).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`serve: cannot listen on ${host}:${port} (${e.code ?? e.message}): pick another --port`);
  });
  // Tests and scripts read the address from this line (with --port 0 it is the only place it appears).
  console.log(`vitkit serve: listening on ${url} (${worker.model.device ?? 'cpu'}, max batch ${limits.maxBatch}, max wait ${limits.maxWaitMs} ms)`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      // A second signal means "now": exit without waiting for the drain.
      if (stopping) process.exit(130);
      stopping = true;
      console.log(`vitkit serve: ${signal}: finishing in-flight requests`);
      void app.close().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  console.log('vitkit serve: stopped');
}
