// main.tsx: entry point. Creates the one AppStore and renders the app.
import { render } from 'preact';
import { App } from './app/app';
import { AppStore } from './app/store';
import './app/styles.css';

const store = new AppStore();
render(<App store={store} />, document.getElementById('app')!);
void store.boot();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  // The service worker caches the app shell only; API and gateway traffic never touch it.
  addEventListener('load', () => { navigator.serviceWorker.register('/sw.js').catch(() => {}); });
}
