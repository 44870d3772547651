// The CDK app's entry: `npm run synth` / `npm run deploy` (cdk.json runs it with tsx).
import { createRunnerApp } from './runner-app';

// The operator's settings, beside the `-c` ones: RUNNERS_CONFIG names another file.
createRunnerApp({ settingsFile: process.env.RUNNERS_CONFIG ?? 'runners.config.json' });
