export type FeaturesRequest = never; export type FeaturesReply = never; export type GetConfigRequest = never; export type GetConfigReply = never; export type SetConfig = never;
export type BarrierRequest = never; export type BarrierReply = never; export type RoleRequest = never; export type RoleReply = never; export type GetAsyncRequest = never; export type GetAsyncReply = never;
export type SetAsync = never; export type QueueGetConfigRequest = never; export type QueueGetConfigReply = never;
