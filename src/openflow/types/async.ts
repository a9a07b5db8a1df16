export type PacketIn = never; export type FlowRemoved = never; export type PortStatus = never;
