// main.tsx: entry point. Creates the one AppStore and renders the app.
import { render } from 'preact';
import { App } from './app/app';
import { AppStore } from './app/store';
import './app/styles.css';

const store = new AppStore();
render(<App store={store} />, document.getElementById('app')!);
void store.boot();

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  // The service worker (src/service_worker.js, built into /sw.js) caches the app shell only;
  // API and gateway traffic never touch it. updateViaCache 'none': updates are checked
  // against the server, never an HTTP cache.
  addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' })
      .catch((e) => console.warn('Parley: the offline app shell is not available:', e));
  });
}
