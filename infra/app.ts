// The CDK app: `npm run synth` / `npm run deploy` (cdk.json runs this file with tsx).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunnerStack } from './runner-stack';
import { readSettings } from './settings';

const app = new App();
const settings = readSettings((key) => app.node.tryGetContext(key));
new RunnerStack(app, settings.stackName, {
  settings,
  description: 'GitHub Actions ephemeral runners on ECS: one runner task per queued workflow job',
  env: { region: settings.region, ...(settings.account !== undefined && { account: settings.account }) },
});
// An unsuppressed AwsSolutions error fails the synth; every suppression in the stack says why.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
