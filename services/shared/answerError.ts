/**
 * A failure a service answers with: the HTTP status, a stable code and a message that is safe
 * to send back to the caller. Each service's errors add what they need on top.
 */
export class AnswerError<Status extends number> extends Error {
  constructor(
    readonly status: Status,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
