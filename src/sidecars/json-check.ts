/**
 * Hand validation of the sidecars' JSON config files (they run in the bundle,
 * where a schema library would only add weight). Strict: an unknown key is an
 * error, because a typo in a security setting must not become a default.
 * Every error is one line, `<where>: <what>`, thrown as the caller's class.
 */
export type Obj = Record<string, unknown>;

export interface JsonCheck {
  readonly isObj: (v: unknown) => v is Obj;
  readonly fail: (where: string, msg: string) => never;
  readonly onlyKeys: (o: Obj, where: string, allowed: readonly string[]) => void;
  readonly str: (v: unknown, where: string) => string;
  readonly optStr: (v: unknown, where: string) => string | undefined;
}

export function jsonCheck(ErrorClass: new (message: string) => Error): JsonCheck {
  const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
  const fail = (where: string, msg: string): never => {
    throw new ErrorClass(`${where}: ${msg}`);
  };
  const str = (v: unknown, where: string): string => {
    if (typeof v !== 'string' || v.length === 0) fail(where, 'must be a non-empty string');
    return v as string;
  };
  return {
    isObj,
    fail,
    onlyKeys: (o, where, allowed) => {
      for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(where, `unknown key "${k}"`);
    },
    str,
    optStr: (v, where) => (v === undefined || v === null ? undefined : str(v, where)),
  };
}
