/**
 * Progress for long benchmark phases: one line rewritten in place on a terminal, one line per
 * step elsewhere (CI logs), always saying which step of how many is running.
 */
export class Progress {
  private step = 0;
  private readonly interactive = process.stdout.isTTY === true;

  constructor(private readonly totalSteps: number) {}

  /** Announces the next step. */
  next(label: string): void {
    this.step += 1;
    this.write(`[${this.step}/${this.totalSteps}] ${label}`, !this.interactive);
  }

  /** Updates the current step's detail, on a terminal only. */
  update(detail: string): void {
    if (this.interactive) this.write(`[${this.step}/${this.totalSteps}] ${detail}`, false);
  }

  done(): void {
    if (this.interactive) process.stdout.write("\r\u001b[2K");
  }

  private write(text: string, newline: boolean): void {
    if (this.interactive) process.stdout.write(`\r\u001b[2K${text}`);
    if (newline) process.stdout.write(`${text}\n`);
  }
}
