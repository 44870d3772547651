// The construct library (`import { EcsGitHubRunners } from 'ecs-github-runners'`): `npm run build:lib`
// bundles this entry into lib/, beside the functions' bundles in dist/ (docs/construct.md).
export { EcsGitHubRunners, type EcsGitHubRunnersProps } from './ecs-github-runners';
export type { RunnerSystem } from './runner-system';
export {
  CONTEXT_KEYS,
  type InfraSettings,
  type SettingKey,
  type Settings,
  SettingsError,
  type SettingValue,
} from './settings';
