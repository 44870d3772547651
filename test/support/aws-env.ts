// Every test process gets fake credentials and a region, and never a real AWS endpoint.
import { FAKE_AWS_CREDENTIALS } from './fake-aws-credentials';

Object.assign(process.env, FAKE_AWS_CREDENTIALS);
delete process.env.AWS_PROFILE;
for (const name of Object.keys(process.env)) {
  if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
}
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// Nor a Parameters and Secrets extension: a test that wants one starts its stand-in.
delete process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
delete process.env.AWS_SESSION_TOKEN;
