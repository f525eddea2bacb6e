/** "Are you sure?" for actions that stop a bottle or replace its containers. */
import { useEffect, useRef } from 'preact/hooks';

export interface Confirm {
  readonly title: string;
  readonly body: string;
  readonly confirm: string;
  readonly danger: boolean;
  readonly run: () => void;
}

export function ConfirmDialog(props: { ask: Confirm | null; close: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.ask && !d.open) d.showModal();
    if (!props.ask && d.open) d.close();
  }, [props.ask]);
  const a = props.ask;
  return (
    <dialog ref={ref} class="confirm" onClose={props.close} aria-labelledby="confirm-title">
      {a && (
        <div>
          <h2 id="confirm-title">{a.title}</h2>
          <p>{a.body}</p>
          <div class="buttons">
            <button class="quiet" autofocus onClick={props.close}>
              Cancel
            </button>
            <button
              class={a.danger ? 'danger' : 'primary'}
              onClick={() => {
                a.run();
                props.close();
              }}
            >
              {a.confirm}
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}
