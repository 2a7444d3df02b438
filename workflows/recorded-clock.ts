/**
 * The time and history counters the account workflow's conditions may read: sampled at steps
 * the history records, never read live.
 *
 * Why: the SDK evaluates every blocked condition again after each update job, also after one
 * whose validator rejects it. A rejected update leaves nothing in the history, so a replay (a
 * worker restart, an evicted cache, a continue-as-new the server refused) never runs that
 * activation. A condition that turned true there only because time passed or the history grew
 * (continue-as-new due, a backlog spill due, a search attribute to publish) issued commands
 * (a timer cancelled, a child started, the run continued as new) that the replay cannot
 * reproduce: it fails with a nondeterminism error, and the account stops answering until the
 * code changes. Conditions that read this clock instead can only change where the history
 * records a step, so a replay takes every decision at the same point.
 */
import { workflowInfo } from '@temporalio/workflow';

/**
 * Patch under which the account workflow's conditions read a {@link RecordedClock}. Histories
 * recorded before it read the time and history counters live, and replay so.
 */
export const RECORDED_CLOCK_PATCH = 'conditions-on-recorded-clock';

/** The workflow's time and history counters as of its last recorded step. */
export class RecordedClock {
  /** Workflow time, in milliseconds since the epoch. */
  nowMs = 0;
  /** Events in the run's history. */
  historyLength = 0;
  /** Bytes of the run's history. */
  historySize = 0;
  /** Whether the server suggests continuing as new. */
  continueAsNewSuggested = false;

  constructor() {
    this.step();
  }

  /**
   * Sample the current activation's time and history counters. Call it only from code that
   * runs where the history records a step: the synchronous start of an accepted update's
   * handler, or code resuming after an activity, a timer, a child's start, or a condition
   * (which, reading only state and this clock, resolves only at such steps). Calling it again
   * in the same activation samples the same values.
   */
  step(): void {
    const info = workflowInfo();
    this.nowMs = Date.now();
    this.historyLength = info.historyLength;
    this.historySize = info.historySize;
    this.continueAsNewSuggested = info.continueAsNewSuggested;
  }
}
