export type PacketOut = never; export type FlowMod = never;
