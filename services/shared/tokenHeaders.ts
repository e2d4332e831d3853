/**
 * The two headers an ID token travels in, the one Cloud Run's front end reads first leading:
 * `X-Serverless-Authorization` wins over `Authorization`, which then stays free for the
 * application's own use. Imports nothing, so the policy pack can load it too.
 */
export const TOKEN_HEADERS = ["x-serverless-authorization", "authorization"] as const;
export type TokenHeader = (typeof TOKEN_HEADERS)[number];
