import 'maplibre-gl/dist/maplibre-gl.css';
import './ops.css';
import * as maplibregl from 'maplibre-gl';
import workerURL from 'worker-url:maplibre-gl';

maplibregl.setWorkerUrl(workerURL);
document.getElementById('app').textContent = 'muster';
