export type MultipartRequest = never; export type MultipartReply = never;
