export * as envs from './envs';
export * as algos from './algos';
export { Mlp, softmax } from './nets';
export { VariablesAdam } from '../optim';
export { ReplayBuffer, actorAction, ddpgTargets, ddpgUpdate, type DdpgNets } from './ddpg';
export { conjugateGradient, fisherVectorProduct, backtrackingLineSearch, trpoUpdate, ppoClipLoss, type LineSearchResult } from './trpo';
export { gae, advantages, collect, Tracker, discountedReturns, policyGradientLoss, normalize, type Batch, type EpisodeInfo, type RunOptions, type RunResult } from './common';
export { baselineAdvantages } from './pg';
