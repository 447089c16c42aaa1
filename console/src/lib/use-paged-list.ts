'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { appendOlder, mergeNewest } from './paged-list';

export interface PageOf<T> {
  items: T[];
  total: number;
}

export interface PagedList<T> {
  items: T[] | undefined;
  total: number;
  error: unknown;
  /** Reads the next older page and appends it. */
  more: () => void;
  loadingMore: boolean;
  reload: () => void;
}

/**
 * A newest-first list read a page at a time (limit/offset). When `version` changes (a live event
 * or a reconnect), the first page is read again and merged in, keeping the pages already shown.
 */
export function usePagedList<T>(
  key: string,
  version: number,
  pageSize: number,
  load: (page: { limit: number; offset: number }, signal: AbortSignal) => Promise<PageOf<T>>,
  keyOf: (item: T) => string,
): PagedList<T> {
  const [state, setState] = useState<{ key: string; items: T[]; total: number } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyOfRef = useRef(keyOf);
  keyOfRef.current = keyOf;
  const stateRef = useRef(state);
  stateRef.current = state;
  const moreController = useRef<AbortController | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    moreController.current?.abort();
    loadRef.current({ limit: pageSize, offset: 0 }, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        setState((old) => ({
          key,
          items: old && old.key === key ? mergeNewest(old.items, page.items, keyOfRef.current) : page.items,
          total: page.total,
        }));
        setError(undefined);
      },
      (e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      },
    );
    return () => controller.abort();
  }, [key, version, pageSize, generation]);

  const more = useCallback(() => {
    const current = stateRef.current;
    if (!current) return;
    const controller = new AbortController();
    moreController.current = controller;
    setLoadingMore(true);
    loadRef
      .current({ limit: pageSize, offset: current.items.length }, controller.signal)
      .then(
        (page) => {
          if (controller.signal.aborted) return;
          setState((old) =>
            old && old.key === current.key
              ? { ...old, items: appendOlder(old.items, page.items, keyOfRef.current), total: page.total }
              : old,
          );
          setError(undefined);
        },
        (e: unknown) => {
          if (!controller.signal.aborted) setError(e);
        },
      )
      .finally(() => {
        if (moreController.current === controller) setLoadingMore(false);
      });
  }, [pageSize]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = state && state.key === key ? state : undefined;
  return { items: current?.items, total: current?.total ?? 0, error, more, loadingMore, reload };
}
