/** POSTs one alert message to the rules file's webhook; any non-2xx answer, network error or timeout is a failure. */

/** The JSON body of a webhook message. */
export interface AlertMessage {
  rule: string;
  queue: string;
  state: 'firing' | 'resolved';
  /** The measured value when the transition happened; null when unknown. */
  value: number | null;
  threshold: number;
  /** The condition kind, e.g. `backlogAbove`. */
  condition: string;
  /** When the condition started to hold (ISO time). */
  since: string;
  /** When the transition happened (ISO time). */
  at: string;
  /** The dashboard's alerts page, when DASHBOARD_PUBLIC_URL is set. */
  dashboardUrl?: string;
}

export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
}

/** Sends `message`; throws WebhookDeliveryError when the receiver did not take it within `timeoutMs`. */
export async function postAlertMessage(url: string, message: AlertMessage, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new WebhookDeliveryError(`alert webhook unreachable: ${(error as Error).message}`, { cause: error });
  }
  // Drain the body so the connection is released.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new WebhookDeliveryError(`alert webhook answered ${response.status}`);
}
