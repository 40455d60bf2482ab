export * as envs from './envs';
export * as algos from './algos';
export { Mlp, softmax } from './nets';
export { ReplayBuffer } from './ddpg';
export { conjugateGradient } from './trpo';
export type { EpisodeInfo, RunOptions, RunResult } from './common';
