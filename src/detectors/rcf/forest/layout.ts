/** "No node" in the forest's Uint16 link arrays (so a tree holds at most 32767 points: leaf ids S..2S-1 < NIL). */
export const NIL = 0xffff;
export const MAX_SAMPLE_SIZE = 32767;
