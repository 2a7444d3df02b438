/**
 * A stand-in for a Temporal frontend that answers a worker's start-up calls (system info,
 * namespace) and then never answers anything else: polls and the shutdown call hang, as with
 * a server that stopped responding. A worker's graceful shutdown then cannot complete, which is
 * what a process-level bound on shutdown has to handle.
 */
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

const SERVICE = '/temporal.api.workflowservice.v1.WorkflowService/';
/** Answered with an empty message (all fields default): enough for a worker to start. */
const ANSWERED = ['GetSystemInfo', 'DescribeNamespace'];
/** Accepted and never answered. */
const SILENT = ['PollWorkflowTaskQueue', 'PollActivityTaskQueue', 'PollNexusTaskQueue', 'ShutdownWorker', 'RecordWorkerHeartbeat'];

/** A running silent server. */
export interface SilentTemporalServer {
  /** `127.0.0.1:<port>`, for `TEMPORAL_ADDRESS`. */
  address: string;
  /** Methods called so far, in order. */
  calls: string[];
  close(): void;
}

/** Starts a silent server on a free loopback port. */
export async function startSilentTemporalServer(): Promise<SilentTemporalServer> {
  const raw = (b: Buffer): Buffer => b;
  const calls: string[] = [];
  const definition: Record<string, ServiceDefinition[string]> = {};
  const implementation: UntypedServiceImplementation = {};
  for (const method of [...ANSWERED, ...SILENT]) {
    definition[method] = {
      path: SERVICE + method,
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    };
    implementation[method] = (_call: unknown, reply: (err: null, value: Buffer) => void) => {
      calls.push(method);
      if (ANSWERED.includes(method)) reply(null, Buffer.alloc(0));
    };
  }
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return { address: `127.0.0.1:${port}`, calls, close: () => server.forceShutdown() };
}
