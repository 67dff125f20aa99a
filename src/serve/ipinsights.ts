/**
 * @deprecated The server is detector-neutral now: use startServer from ./start.js (or ./index.js). This alias keeps
 * callers that have not moved yet (the demo, the dashboard and Lambda tests) compiling with their old types; it
 * goes, with its type import from the detector's folder, once nothing imports this file.
 */
import type { IpInsightsModel } from '../detectors/ipinsights/index.js';
import type { RunningServer } from './server.js';
import { startServer, type ServerOptions } from './start.js';

export type IpInsightsServerOptions = ServerOptions;

/** @deprecated startServer (models of any detector). */
export async function startIpInsightsServer(opts: ServerOptions): Promise<RunningServer<IpInsightsModel>> {
  return (await startServer(opts)) as unknown as RunningServer<IpInsightsModel>;
}
