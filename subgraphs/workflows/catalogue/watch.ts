import { readVersioned } from '../../common/config-file';
import { Channel } from '../live';

/**
 * What "open `workflows` readers are notified" means here: a workflowCatalogueUpdated stream
 * receives the catalogue's new version whenever slurm-config.ini changes, whoever changed it (our
 * setWorkflow/removeWorkflow in any process, OMERO.biomero's admin tab, an editor). One poller per
 * subgraph reads the file's version every `pollIntervalMs` while a stream is open; our own edits
 * check at once. A stream starts from the version the client last read (`since`, else the version
 * at subscription), so a change made between its read and its subscription is still delivered.
 */
export interface CatalogueVersion {
  version: string;
}

interface Reader {
  channel: Channel<CatalogueVersion>;
  last: string;
}

/** Versions pending per stream; a reader this far behind has missed nothing it needs (the latest wins). */
const QUEUE = 16;

export class CatalogueWatch {
  private readonly readers = new Set<Reader>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly configFile: string,
    private readonly pollIntervalMs: number,
  ) {}

  /** A stream of the versions after `since`, the version the client last read. */
  subscribe(since: string): AsyncIterableIterator<CatalogueVersion> {
    const reader: Reader = { channel: new Channel<CatalogueVersion>(QUEUE), last: since };
    this.readers.add(reader);
    reader.channel.whenClosed(() => {
      this.readers.delete(reader);
      if (this.readers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.pollIntervalMs);
      this.timer.unref();
    }
    void this.check();
    return reader.channel;
  }

  /** Reads the version once and tells every stream that has not seen it. */
  check(): Promise<void> {
    if (this.readers.size === 0) return Promise.resolve();
    // one read at a time; a check asked for meanwhile runs after it
    const run = (this.checking ?? Promise.resolve()).then(async () => {
      let version: string;
      try {
        version = (await readVersioned(this.configFile)).version;
      } catch {
        return; // unreadable for now: the workflows query reports it; streams wait for a readable file
      }
      for (const reader of this.readers) {
        if (reader.last !== version) {
          reader.last = version;
          reader.channel.push({ version });
        }
      }
    });
    this.checking = run;
    return run;
  }

  close(): void {
    for (const reader of [...this.readers]) void reader.channel.return();
  }
}
