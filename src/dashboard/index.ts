/**
 * The web dashboard: a client of the library (it imports only src/index.ts),
 * used by `bot-bottle dashboard` and by anyone embedding it.
 */
export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { DEFAULT_LISTEN, hostPort, parseListen, type ListenAddress } from './listen.js';
export { writeOpener } from './token.js';
