export interface EventItem {
  id: number;
  at: string;
  level: string;
  message: string;
}

/** Lists a run's events, oldest first. */
export function EventsList({ events }: { events: readonly EventItem[] }) {
  if (events.length === 0) return <p className="muted">No events yet.</p>;
  return (
    <ul className="events" data-testid="events">
      {events.map((event) => (
        <li key={event.id} className={`level-${event.level}`}>
          <span className="muted">{new Date(event.at).toLocaleString()}</span>
          <span>{event.level}</span>
          <span>{event.message}</span>
        </li>
      ))}
    </ul>
  );
}
