import * as grpc from '@grpc/grpc-js';
import {
  loadServices,
  type WireAssignReply,
  type WireAssignRequest,
  type WireIdleReply,
  type WireIdleRequest,
} from '../../src/proto.ts';

type Unary<Request, Reply> = (
  request: Request,
  callback: (error: grpc.ServiceError | null, reply?: Reply) => void,
) => grpc.ClientUnaryCall;

interface ScalerStub extends grpc.Client {
  Assign: Unary<Partial<WireAssignRequest>, WireAssignReply>;
  Idle: Unary<Partial<WireIdleRequest>, WireIdleReply>;
}

/**
 * A Scaler client as the platform would use it, with promises. Requests are
 * partial so tests can leave out fields, as a faulty caller would.
 */
export class ScalerTestClient {
  readonly #stub: ScalerStub;

  constructor(address: string) {
    const { Scaler } = loadServices();
    this.#stub = new Scaler(address, grpc.credentials.createInsecure()) as unknown as ScalerStub;
  }

  assign(request: Partial<WireAssignRequest>): Promise<WireAssignReply> {
    return unary(this.#stub, this.#stub.Assign, request);
  }

  idle(request: Partial<WireIdleRequest>): Promise<WireIdleReply> {
    return unary(this.#stub, this.#stub.Idle, request);
  }

  close(): void {
    this.#stub.close();
  }
}

function unary<Request, Reply>(stub: grpc.Client, method: Unary<Request, Reply>, request: Request): Promise<Reply> {
  return new Promise((resolve, reject) => {
    method.call(stub, request, (error, reply) => {
      if (error) reject(error);
      else if (!reply) reject(new Error('empty reply'));
      else resolve(reply);
    });
  });
}
