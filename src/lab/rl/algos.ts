export { reinforce, actorCritic, type PgOptions, type ActorCriticOptions, type PgResult } from './pg';
export { ddpg, type DdpgOptions, type DdpgResult } from './ddpg';
export { trpo, ppo, type TrpoOptions, type PpoOptions, type PolicyOptimResult } from './trpo';
