/**
 * The one endpoint store: the model and every read and write of webhooks.endpoints, shared by
 * the dispatcher service, the CLI and the web admin. Import from here, not from the files behind it.
 */
export { ALL_EVENT_TYPES, isEndpointId, signingSecrets, subscribesTo, type Endpoint, type EndpointRecord } from './endpoint.ts';
export { findEnabledEndpoints, findEndpoint, findEndpointById, findEndpointsById, listEndpoints } from './endpoint-reads.ts';
export {
  createEndpoint,
  deleteEndpoint,
  disableEndpoint,
  rotateEndpointSecret,
  setEndpointEnabled,
  updateEndpoint,
  writeSettings,
  type EndpointChanges,
  type EndpointSettings,
  type NewEndpoint,
  type UpdateOptions,
} from './endpoint-writes.ts';
export { EndpointChangedError, endpointValidationError, type EndpointValidationFailure } from './endpoint-errors.ts';
