export * as schedules from './schedules';
export * as samplers from './samplers';
export * as edm from './edm';
export type { Denoiser, SampleResult } from './samplers';
export { noise, flowMatchingNoise } from './edm';
export { GaussianMixture } from './gmm';
export { FlatAdam } from '../optim';
export { DenoiserMLP, train, type TrainOptions, type TrainResult } from './denoiser';
