/**
 * What a launch needs besides ECS, for tests about something else: a GitHub stand-in that mints
 * registration tokens and an S3 server for the runner's environment file. Token registration, so
 * the RunTask request carries the seed's RUNNER_CONFIG_ARGS.
 */
import { type GitHubStandIn, startGitHubStandIn } from './github-stand-in';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from './s3-server';

const TOKEN = 'ghp_registration_stand_ins_0123456789';

export interface RegistrationStandIns {
  readonly github: GitHubStandIn;
  readonly s3: S3Server;
  /** The functions' variables that point them at the stand-ins. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Starts both and points the S3 client at the server (`AWS_ENDPOINT_URL_S3`). */
export async function startRegistrationStandIns(): Promise<RegistrationStandIns> {
  const [github, s3] = await Promise.all([startGitHubStandIn({ token: TOKEN }), startS3Server()]);
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  return {
    github,
    s3,
    env: {
      RUNNER_REGISTRATION: 'token',
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
      RUNNER_CONFIG_BUCKET,
    },
    close: async () => {
      await Promise.all([github.close(), s3.close()]);
    },
  };
}
