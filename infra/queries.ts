import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link RunnerQueries}. */
export interface RunnerQueriesProps {
  /** The runner's log group: one JSON line per event, with `spec`, `run`, `fileGroup`, `outcome`, `dataAdded`, `duration`. */
  readonly runnerLogGroup: logs.ILogGroup;
  /**
   * Function log groups searched too by "one spec's runs" (dispatch skips, record results).
   * @default - none
   */
  readonly functionLogGroups?: readonly logs.ILogGroup[];
  /**
   * Folder the queries are saved under in the Logs Insights console (`folder/name`).
   * @default 'Stash'
   */
  readonly folder?: string;
}

/**
 * Saved CloudWatch Logs Insights queries over the runner's JSON log lines:
 * "failed runs, last 24 h", "one spec's runs" and "bytes added by spec".
 *
 * A saved query keeps no time range: pick it in the console (24 h for the first).
 */
export class RunnerQueries extends Construct {
  public readonly failedRuns: { readonly definition: logs.QueryDefinition; readonly queryString: logs.QueryString };
  public readonly specRuns: { readonly definition: logs.QueryDefinition; readonly queryString: logs.QueryString };
  public readonly bytesAddedBySpec: { readonly definition: logs.QueryDefinition; readonly queryString: logs.QueryString };

  constructor(scope: Construct, id: string, props: RunnerQueriesProps) {
    super(scope, id);
    const folder = props.folder ?? 'Stash';
    if (folder.trim() === '' || folder.includes('//')) {
      throw new Error(`RunnerQueries: folder "${folder}" must be a non-empty name`);
    }
    const save = (queryId: string, name: string, queryString: logs.QueryString, logGroups: logs.ILogGroup[]) => ({
      definition: new logs.QueryDefinition(this, queryId, { queryDefinitionName: `${folder}/${name}`, queryString, logGroups }),
      queryString,
    });

    this.failedRuns = save(
      'FailedRuns',
      'failed runs, last 24 h',
      new logs.QueryString({
        fields: ['@timestamp', 'spec', 'run', 'fileGroup', 'outcome', 'message'],
        filterStatements: ['ispresent(outcome) and outcome != "succeeded"'],
        sort: '@timestamp desc',
        limit: 200,
      }),
      [props.runnerLogGroup],
    );
    this.specRuns = save(
      'SpecRuns',
      "one spec's runs",
      new logs.QueryString({
        fields: ['@timestamp', '@log', 'run', 'fileGroup', 'outcome', 'dataAdded', 'duration', 'level', 'message'],
        // Edit the name before running.
        filterStatements: ['spec = "my-spec"'],
        sort: '@timestamp desc',
        limit: 500,
      }),
      [props.runnerLogGroup, ...(props.functionLogGroups ?? [])],
    );
    this.bytesAddedBySpec = save(
      'BytesAddedBySpec',
      'bytes added by spec',
      new logs.QueryString({
        filterStatements: ['ispresent(dataAdded)'],
        statsStatements: ['sum(dataAdded) as bytesAdded, count(*) as fileGroupBackups by spec'],
        sort: 'bytesAdded desc',
      }),
      [props.runnerLogGroup],
    );
  }
}
