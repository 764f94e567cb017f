import { Construct } from 'constructs';
import { DispatchFunction, type DispatchFunctionProps } from './dispatch-function';
import { RecordFunction } from './record-function';
import { ValidateFunction } from './validate-function';

/**
 * Stash's three Lambda functions, each with exactly its own grants:
 * {@link DispatchFunction} (on the tick), {@link RecordFunction} (on a stopped task) and
 * {@link ValidateFunction} (on a spec upload or delete).
 */
export class Functions extends Construct {
  public readonly dispatch: DispatchFunction;
  public readonly record: RecordFunction;
  public readonly validate: ValidateFunction;

  /** @param props what the dispatcher is built from, which covers what the other two need. */
  constructor(scope: Construct, id: string, props: DispatchFunctionProps) {
    super(scope, id);
    this.dispatch = new DispatchFunction(this, 'Dispatch', props);
    this.record = new RecordFunction(this, 'Record', props);
    this.validate = new ValidateFunction(this, 'Validate', props);
  }
}
