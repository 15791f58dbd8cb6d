import type pg from 'pg';
import type { CallerAccess } from '../../common/access';
import {
  workflowStatistics,
  workflowStatisticsTable,
  type WorkflowStatisticsArgs,
  type WorkflowStatisticsBucket,
  type WorkflowStatisticsTable,
} from './statistics';

/** workflowStatistics over the runs the caller may see: built per request with the caller's access. */
export class WorkflowStatisticsSource {
  constructor(
    private readonly pool: pg.Pool,
    private readonly access: CallerAccess,
  ) {}

  statistics(args: WorkflowStatisticsArgs): Promise<WorkflowStatisticsBucket[]> {
    return workflowStatistics(this.pool, this.access.scope(), args);
  }

  table(args: WorkflowStatisticsArgs): Promise<WorkflowStatisticsTable> {
    return workflowStatisticsTable(this.pool, this.access.scope(), args);
  }
}
