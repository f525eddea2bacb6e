/** The provider contract lives with the backend contract in bottle/; templates implement it here. */
export type { ImageSpec, Provider, ProviderContext, ProviderSetup, SessionCommands } from '../bottle/provider.js';
