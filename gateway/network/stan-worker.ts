/**
 * The STAN reservation worker (see stan-block.ts): its own connection to the link store's
 * file, one reservation per request, so the fsync of each block happens off the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { reserveStanBlock, type ReserveReply, type ReserveRequest } from './stan-block.js';

const port = parentPort;
if (port === null) throw new Error('stan-worker runs as a worker thread');
const { file } = workerData as { file: string };
// The link store made the file before it started this worker: a worker that starts late (after
// its store was closed and the file removed) must fail, not leave a new empty database behind.
const db = new Database(file, { fileMustExist: true });
db.pragma('synchronous = FULL');
port.on('message', (request: ReserveRequest | 'close') => {
  if (request === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: ReserveReply;
  try {
    reply = { link: request.link, block: reserveStanBlock(db, request.link, request.day) };
  } catch (error) {
    reply = { link: request.link, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
