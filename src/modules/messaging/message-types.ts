/** The message types of CONTRACT.md "Messages". */
export const MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'reaction'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MEDIA_TYPES: readonly MessageType[] = ['image', 'video', 'audio', 'document', 'sticker'];
