import { GmpError } from './errors.js';

/**
 * GMP answers carry no length and no terminator: an answer ends when its root element closes.
 * This reader finds that point on raw bytes, so a read that splits a tag, an attribute or a
 * multi-byte UTF-8 character anywhere changes nothing (every delimiter is ASCII, and UTF-8
 * never uses ASCII bytes inside a multi-byte character). Bytes are decoded only once the whole
 * answer is there.
 *
 * It tracks just enough XML to count element depth: quoted attribute values (which may hold
 * `>` or `/`), self-closing tags, comments, CDATA sections and processing instructions.
 * Declarations (`<!DOCTYPE`, `<!ENTITY`) are refused: gvmd never sends them, and they are the
 * way into entity expansion.
 */

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f;
const QMARK = 0x3f;
const BANG = 0x21;
const DQ = 0x22;
const SQ = 0x27;
const DASH = 0x2d;
const RSQB = 0x5d; // ]

const enum State {
  Text,
  Open, // just after '<'
  StartTag,
  AttrDouble,
  AttrSingle,
  EndTag,
  Pi,
  Bang, // after '<!', deciding between comment and CDATA
  Comment,
  Cdata,
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

export class GmpFrameReader {
  /** Bytes of the answer in progress, from earlier reads. */
  private pending: Buffer[] = [];
  private size = 0;
  private state = State.Text;
  private depth = 0;
  private rootSeen = false;
  private lastSignificant = 0;
  private run = 0; // consecutive '-', ']' or the '?' seen, per state
  private bang = '';

  constructor(private readonly maxBytes = DEFAULT_MAX_RESPONSE_BYTES) {}

  /** Bytes received and not yet returned as a frame. */
  get pendingBytes(): number {
    return this.size;
  }

  /**
   * Adds received bytes; returns the complete answers they finish (usually none or one). Throws a
   * `protocol` GmpError on malformed framing or an answer above the size bound.
   */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (!this.step(chunk[i]!)) continue;
      const tail = chunk.subarray(start, i + 1);
      if (this.size + tail.length > this.maxBytes) throw new GmpError('protocol', `answer larger than ${this.maxBytes} bytes`);
      frames.push(this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]));
      this.pending = [];
      this.size = 0;
      start = i + 1;
      this.reset();
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.size += chunk.length - start;
    }
    if (this.size > this.maxBytes) throw new GmpError('protocol', `answer larger than ${this.maxBytes} bytes`);
    return frames;
  }

  /** True once the root element of a started answer is open (data is outstanding). */
  get inAnswer(): boolean {
    return this.size > 0 && (this.rootSeen || this.state !== State.Text || this.depth > 0);
  }

  private reset(): void {
    this.state = State.Text;
    this.depth = 0;
    this.rootSeen = false;
    this.lastSignificant = 0;
    this.run = 0;
    this.bang = '';
  }

  /** Advances by one byte; true when this byte closed the root element. */
  private step(b: number): boolean {
    switch (this.state) {
      case State.Text:
        if (b === LT) this.state = State.Open;
        else if (this.depth === 0 && !isSpace(b)) throw new GmpError('protocol', 'text outside the answer element');
        return false;
      case State.Open:
        if (b === SLASH) this.state = State.EndTag;
        else if (b === QMARK) {
          this.state = State.Pi;
          this.run = 0;
        } else if (b === BANG) {
          this.state = State.Bang;
          this.bang = '';
        } else {
          if (this.rootSeen && this.depth === 0) throw new GmpError('protocol', 'a second root element');
          this.state = State.StartTag;
          this.lastSignificant = b;
        }
        return false;
      case State.StartTag:
        if (b === DQ) this.state = State.AttrDouble;
        else if (b === SQ) this.state = State.AttrSingle;
        else if (b === GT) {
          this.state = State.Text;
          if (this.lastSignificant === SLASH) return this.depth === 0; // a self-closing root is the whole answer
          this.depth++;
          this.rootSeen = true;
        } else if (!isSpace(b)) this.lastSignificant = b;
        return false;
      case State.AttrDouble:
      case State.AttrSingle:
        if (b === (this.state === State.AttrDouble ? DQ : SQ)) {
          this.state = State.StartTag;
          this.lastSignificant = b;
        }
        return false;
      case State.EndTag:
        if (b === GT) {
          this.state = State.Text;
          if (this.depth === 0) throw new GmpError('protocol', 'an end tag without its start tag');
          this.depth--;
          return this.depth === 0;
        }
        return false;
      case State.Pi:
        if (b === GT && this.run === 1) this.state = State.Text;
        this.run = b === QMARK ? 1 : 0;
        return false;
      case State.Bang:
        this.bang += String.fromCharCode(b);
        if (this.bang === '--') {
          this.state = State.Comment;
          this.run = 0;
        } else if (this.bang === '[CDATA[') {
          if (this.depth === 0) throw new GmpError('protocol', 'CDATA outside the answer element');
          this.state = State.Cdata;
          this.run = 0;
        } else if (!'--'.startsWith(this.bang) && !'[CDATA['.startsWith(this.bang)) {
          throw new GmpError('protocol', 'XML declarations (DOCTYPE, ENTITY) are refused');
        }
        return false;
      case State.Comment:
        if (b === GT && this.run >= 2) this.state = State.Text;
        else this.run = b === DASH ? this.run + 1 : 0;
        return false;
      case State.Cdata:
        if (b === GT && this.run >= 2) this.state = State.Text;
        else this.run = b === RSQB ? this.run + 1 : 0;
        return false;
    }
  }
}
