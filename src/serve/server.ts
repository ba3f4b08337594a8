// The HTTP inference server: fastify routes over a dynamic batcher. Every bad request gets a 4xx JSON error
// ({"error": "..."}) and the process keeps serving; overload gets a 503 with Retry-After instead of a growing queue.
import { basename, extname } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { decodeImage } from '../data/decode.ts';
import { preprocess } from '../data/preprocess.ts';
import { UserError } from '../errors.ts';
import type { Tensor } from '../graph/tensor.ts';
import type { LoadedModel } from '../inference/classifier.ts';
import type { DeviceChoice } from '../runtime/devices.ts';
import { topK } from '../inference/top-k.ts';
import { Batcher, BatcherError } from './batcher.ts';
import type { BatchRunner, ImageOutputs } from './model-runner.ts';
import { ServerMetrics } from './metrics.ts';

/** What the server needs to know of the model (the weights themselves live in the runner). */
export type ServedModel = Pick<LoadedModel, 'path' | 'format' | 'config' | 'precision' | 'labels' | 'preprocess'> & {
  /** Where the model runs (the inference worker reports it resolved: cpu or webgpu). */
  readonly device?: DeviceChoice;
};

/** Limits and batching settings; every field has a default (see DEFAULT_LIMITS). */
export interface ServeLimits {
  /** Most images per inference run (1 = no batching). */
  readonly maxBatch: number;
  /** How long a request may wait for others to fill a batch. */
  readonly maxWaitMs: number;
  /** Requests allowed to wait for a run; beyond that the server answers 503 with Retry-After. */
  readonly maxQueue: number;
  /** Largest request body (bytes), raw or multipart. */
  readonly maxBodyBytes: number;
  /** Largest image (width × height), checked from the header before decoding. */
  readonly maxPixels: number;
  /** Deadline for a whole request, from its first byte to the reply (408 while uploading, 503 after). */
  readonly timeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxBatch: 16,
  maxWaitMs: 5,
  maxQueue: 256,
  maxBodyBytes: 10 * 2 ** 20,
  maxPixels: 4096 * 4096,
  timeoutMs: 30_000,
};

export interface ServerOptions {
  readonly model: ServedModel;
  /** Runs one batch of preprocessed images (see classifierRunner). */
  readonly runner: BatchRunner;
  readonly limits?: Partial<ServeLimits>;
  /** Called once the server has closed and the queue is empty (e.g. to release the onnxruntime session). */
  readonly onClose?: () => Promise<void>;
}

/** An HTTP error with its status and headers, for failures that are not the client's input (e.g. overload). */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const RAW_TYPES = 'image/* or application/octet-stream';
/** Seconds a client should wait after a 503: about one batch of a mid-size model on a few cores. */
const RETRY_AFTER_S = '1';

/** The name replies carry: the checkpoint's file or directory name without extension. */
function modelName(path: string): string {
  return basename(path, extname(path));
}

function unsupportedType(contentType: string | undefined): HttpError {
  return new HttpError(415, `unsupported content type '${contentType ?? '(none)'}': send the image as ${RAW_TYPES}, or as multipart/form-data`);
}

/** The first file of a multipart form; busboy's parse errors (which carry no status) are the client's. */
async function multipartFile(req: FastifyRequest): Promise<Buffer> {
  try {
    const file = await req.file();
    if (!file) throw new UserError('the multipart form has no file part: send the image as a file field');
    return await file.toBuffer();
  } catch (e) {
    if (e instanceof UserError || typeof (e as { statusCode?: unknown }).statusCode === 'number') throw e;
    throw new UserError(`malformed multipart body (${(e as Error).message}): send multipart/form-data with one file field`);
  }
}

/** The image bytes of a request: a raw body (image/*, octet-stream) or the first file of a multipart form. */
async function imageBytes(req: FastifyRequest): Promise<Buffer> {
  const bytes = req.isMultipart() ? await multipartFile(req) : req.body;
  if (!Buffer.isBuffer(bytes)) throw unsupportedType(req.headers['content-type']);
  if (bytes.length === 0) throw new UserError('the request body is empty: send an image');
  return bytes;
}

/** Status and body of any error thrown while handling a request. */
function errorReply(err: unknown, contentType: string | undefined): { status: number; message: string; headers: Record<string, string> } {
  if (err instanceof UserError) return { status: 400, message: err.message, headers: {} };
  if (err instanceof HttpError) return { status: err.statusCode, message: err.message, headers: err.headers };
  if (err instanceof BatcherError) {
    return { status: 503, message: `server busy: ${err.message}`, headers: { 'retry-after': RETRY_AFTER_S } };
  }
  // fastify's and @fastify/multipart's own errors (body too large, bad media type, malformed form) carry a 4xx
  if ((err as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return errorReply(unsupportedType(contentType), contentType);
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, message: (err as Error).message, headers: {} };
  return { status: 500, message: 'internal error', headers: {} };
}

/**
 * Builds the server (not yet listening): POST /v1/classify, POST /v1/embed, GET /v1/model, GET /healthz,
 * GET /metrics. Closing it (app.close(), e.g. on SIGTERM) stops accepting connections, answers every request
 * already accepted, then calls `onClose`.
 */
export async function createServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const { model } = opts;
  const name = modelName(model.path);
  const numClasses = model.config.numClasses;
  const metrics = new ServerMetrics();
  const batcher = new Batcher<Tensor<'float32'>, ImageOutputs>(opts.runner, limits, {
    onBatch: (size, ms) => metrics.observeBatch(size, ms),
  });
  metrics.trackQueue(() => batcher.depth);

  const app = Fastify({
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.timeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  await app.register(multipart, { limits: { fileSize: limits.maxBodyBytes, files: 1, fields: 16, parts: 32, headerPairs: 64 } });
  const keepBytes = (_req: FastifyRequest, body: Buffer | string, done: (err: null, body: Buffer | string) => void): void => done(null, body);
  app.addContentTypeParser(/^image\//, { parseAs: 'buffer' }, keepBytes);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, keepBytes);

  app.setErrorHandler((err, req, reply) => {
    const { status, message, headers } = errorReply(err, req.headers['content-type']);
    if (status >= 500) console.error(`vitkit serve: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void reply.code(status).headers(headers).send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url} (see GET /v1/model, POST /v1/classify, POST /v1/embed)` });
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime);
  });
  // On shutdown: stop waiting for fuller batches, and close each connection after its reply (a keep-alive
  // connection left open would hold the server up until its idle timeout). onClose runs after the last reply.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    void batcher.drain();
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) void reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onClose', async () => {
    await batcher.drain();
    await opts.onClose?.();
  });

  /** Decodes, preprocesses and runs one request's image through the batcher, within its deadline. */
  const infer = async (req: FastifyRequest, reply: FastifyReply): Promise<ImageOutputs> => {
    const raw = await decodeImage(await imageBytes(req), { maxPixels: limits.maxPixels, name: 'the image' });
    const image = preprocess(raw, model.preprocess);
    return batcher.submit(image, { timeoutMs: Math.max(1, limits.timeoutMs - reply.elapsedTime) });
  };

  app.post<{ Querystring: { top?: string } }>('/v1/classify', async (req, reply) => {
    if (numClasses === 0) throw new HttpError(404, 'this model has no classifier head: use POST /v1/embed');
    const k = req.query.top === undefined ? Math.min(5, numClasses) : Number(req.query.top);
    if (!Number.isInteger(k) || k < 1 || k > numClasses) throw new UserError(`top=${req.query.top} is invalid: pass an integer in 1..${numClasses}`);
    const { logits } = await infer(req, reply);
    return { top: topK(logits!, k, model.labels), model: name, ms: reply.elapsedTime };
  });

  app.post('/v1/embed', async (req, reply) => {
    const { pooled } = await infer(req, reply);
    return { embedding: Array.from(pooled), dim: pooled.length, model: name, ms: reply.elapsedTime };
  });

  app.get('/v1/model', async () => ({
    model: name,
    format: model.format,
    precision: model.precision,
    ...(model.device ? { device: model.device } : {}),
    config: model.config,
    labels: model.labels,
    preprocess: model.preprocess,
    batching: { maxBatch: limits.maxBatch, maxWaitMs: limits.maxWaitMs, maxQueue: limits.maxQueue },
  }));

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/metrics', async (_req, reply) => {
    void reply.type(metrics.contentType);
    return metrics.render();
  });

  return app;
}
