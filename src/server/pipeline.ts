/**
 * The request path of `sipwire serve` as a pipeline of named stages. Each
 * stage gets the request's context and `next`, the rest of the pipeline:
 * it may answer, rewrite, choose targets, forward or redirect, and call
 * `next()` (or not) to let the stages after it run. An operator's routes
 * module rearranges the stages with the methods below.
 */
import type { RouteContext } from './route-context.js';

export type Next = () => Promise<void>;
export type Stage = (ctx: RouteContext, next: Next) => void | Promise<void>;

export interface NamedStage {
  readonly name: string;
  readonly run: Stage;
}

export class Pipeline {
  private stages: NamedStage[];

  constructor(stages: readonly NamedStage[] = []) {
    this.stages = [...stages];
  }

  /** The stage names in order. */
  names(): string[] {
    return this.stages.map((s) => s.name);
  }

  /** Appends a stage. */
  use(name: string, run: Stage): this {
    this.ensureNew(name);
    this.stages.push({ name, run });
    return this;
  }

  /** Inserts a stage before the stage `at`. */
  before(at: string, name: string, run: Stage): this {
    this.ensureNew(name);
    this.stages.splice(this.index(at), 0, { name, run });
    return this;
  }

  /** Inserts a stage after the stage `at`. */
  after(at: string, name: string, run: Stage): this {
    this.ensureNew(name);
    this.stages.splice(this.index(at) + 1, 0, { name, run });
    return this;
  }

  /** Replaces the stage `name`'s work, keeping its place. */
  replace(name: string, run: Stage): this {
    this.stages[this.index(name)] = { name, run };
    return this;
  }

  /** Wraps a stage: `wrapper` gets the original and returns the stage to run instead. */
  wrap(name: string, wrapper: (original: Stage) => Stage): this {
    const i = this.index(name);
    const original = (this.stages[i] as NamedStage).run;
    this.stages[i] = { name, run: wrapper(original) };
    return this;
  }

  /** Removes a stage. */
  remove(name: string): this {
    this.stages.splice(this.index(name), 1);
    return this;
  }

  /** Runs the stages in order for one request; a stage that does not call `next` ends the run. */
  run(ctx: RouteContext): Promise<void> {
    const stages = this.stages;
    const step = (i: number): Promise<void> => {
      if (i >= stages.length || ctx.answered) return Promise.resolve();
      const s = stages[i] as NamedStage;
      ctx.stage = s.name;
      try {
        return Promise.resolve(s.run(ctx, () => step(i + 1)));
      } catch (e) {
        return Promise.reject(e);
      }
    };
    return step(0);
  }

  private index(name: string): number {
    const i = this.stages.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no stage named '${name}' (stages: ${this.names().join(', ')})`);
    return i;
  }

  private ensureNew(name: string): void {
    if (this.stages.some((s) => s.name === name)) throw new Error(`a stage named '${name}' already exists`);
  }
}
