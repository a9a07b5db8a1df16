export type Hello = never; export type ErrorMessage = never; export type EchoRequest = never; export type EchoReply = never; export type ExperimenterMessage = never;
