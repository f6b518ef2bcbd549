// sdk/index.ts: the public surface of the Parley TypeScript SDK.
export * from './types';
export { ParleyError, problemError } from './errors';
export { RestClient, type RestOptions, type HistoryQuery } from './rest';
export { Gateway, gatewayUrl, kFinalCloseCodes, type ConnectionState, type GatewayOptions,
         type GatewayEvents, type SocketLike, type NetworkStatus, type Timers } from './gateway';
export { Outbox, newTxnId, type PendingSend, type PendingState } from './outbox';
export { RoomSync } from './room_sync';
export { Backoff } from './backoff';
export { Observable, Emitter } from './observable';
export { type UploadOptions, type UploadProgress, type UploadTask, type XhrLike } from './uploads';
