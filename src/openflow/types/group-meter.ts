export type GroupMod = never; export type MeterMod = never; export type PortMod = never; export type TableMod = never;
