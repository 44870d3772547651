// The CDK app's entry: `npm run synth` / `npm run deploy` (cdk.json runs it with tsx).
import { createRunnerApp } from './runner-app';

createRunnerApp();
