// A Durable Object's one alarm, serving every deadline its parts have: armed for the earliest, never
// set again for a later one, and re-armed from scratch each time it has run.

export class AlarmSchedule {
  private at: number | null = null;
  private running = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Reads the alarm left set by an earlier instance of the object. */
  async load(): Promise<void> {
    this.at = await this.storage.getAlarm();
  }

  /** When the alarm runs next, as far as this instance knows. */
  get next(): number | null {
    return this.at;
  }

  /**
   * Arms the alarm for `at` unless it is already set for no later. An alarm set for a moment already
   * past is due and runs soon; moving it later would delay what made it due.
   */
  async arm(at: number): Promise<void> {
    // A running alarm re-arms itself from the tables when it ends, which covers `at`.
    if (this.running) return;
    if (this.at !== null && this.at <= at) return;
    await this.storage.setAlarm(at);
    this.at = at;
  }

  /**
   * Runs `work` as the alarm, then re-arms it for `nextWake()`, computed afresh since requests may
   * have interleaved (null: nothing left to wake for). Never throws: a failed alarm is retried a few
   * times by the runtime, then never again, so a failure is reported and the alarm armed as usual.
   */
  async run(work: () => Promise<void>, nextWake: () => number | null, report: (stage: string, error: unknown) => void): Promise<void> {
    this.running = true;
    // The alarm that is running is spent: until it is re-armed, nothing is set.
    this.at = null;
    try {
      await work();
    } catch (error) {
      report("alarm_failed", error);
    } finally {
      this.running = false;
      try {
        const next = nextWake();
        if (next === null) await this.storage.deleteAlarm();
        else await this.storage.setAlarm(next);
        this.at = next;
      } catch (error) {
        report("alarm_not_armed", error);
      }
    }
  }
}
