/**
 * The setup secret's value: the one-time key the deployer opens the setup page with, and, once
 * setup has stored the GitHub App's credentials, when that was and which App it made. A completed
 * record no longer opens a session: the key stops working.
 */
export interface SetupRecord {
  readonly key: string;
  /** ISO 8601; undefined while setup has not completed. */
  readonly completedAt?: string;
  readonly app?: CreatedAppSummary;
}

/** What the setup record keeps of the App it made: nothing secret. */
export interface CreatedAppSummary {
  readonly id: number;
  readonly slug: string;
  readonly htmlUrl: string;
  /** The account that owns the App (an organisation's login, or a user's). */
  readonly owner: string;
  readonly ownerType: 'Organization' | 'User';
}

/** The shortest key the setup page accepts: CloudFormation generates 40 characters. */
const MIN_KEY_LENGTH = 20;

/**
 * Reads the setup secret, as CloudFormation generated it (`{"key": "..."}`) or as setup completed it.
 * @throws Error when it holds no usable key (never echoing the value).
 */
export function parseSetupRecord(text: string): SetupRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the setup secret is not JSON: deploy the stack again to regenerate it');
  }
  const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof fields.key !== 'string' || fields.key.length < MIN_KEY_LENGTH)
    throw new Error('the setup secret has no "key": deploy the stack again to regenerate it');
  const app = fields.app as Record<string, unknown> | undefined;
  return {
    key: fields.key,
    ...(typeof fields.completedAt === 'string' && { completedAt: fields.completedAt }),
    ...(app !== undefined &&
      typeof app.id === 'number' &&
      typeof app.slug === 'string' &&
      typeof app.htmlUrl === 'string' &&
      typeof app.owner === 'string' && {
        app: {
          id: app.id,
          slug: app.slug,
          htmlUrl: app.htmlUrl,
          owner: app.owner,
          ownerType: app.ownerType === 'User' ? 'User' : 'Organization',
        },
      }),
  };
}

/** The record completed: the key stays (the session of the browser that finished setup checks it). */
export function completedRecord(record: SetupRecord, app: CreatedAppSummary, now: Date): SetupRecord {
  return { key: record.key, completedAt: now.toISOString(), app };
}
