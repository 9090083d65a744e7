/*{
    "DESCRIPTION": "Benchmark look: rings through five octaves of value noise (the same maths as rings.wgsl)",
    "ISFVSN": "2",
    "INPUTS": [
        { "NAME": "speed", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0 },
        { "NAME": "freq", "TYPE": "float", "DEFAULT": 24.0, "MIN": 1.0, "MAX": 64.0 }
    ]
}*/

float hash_b(vec2 p) { return fract(sin(dot(p, vec2(127.1, 311.7))) * 43758.5453); }

float noise_b(vec2 p) {
    vec2 i = floor(p);
    vec2 f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash_b(i), hash_b(i + vec2(1.0, 0.0)), u.x),
               mix(hash_b(i + vec2(0.0, 1.0)), hash_b(i + vec2(1.0, 1.0)), u.x), u.y);
}

float fbm_b(vec2 p) {
    float v = 0.0;
    float a = 0.5;
    for (int k = 0; k < 5; k++) {
        v += a * noise_b(p);
        p *= 2.0;
        a *= 0.5;
    }
    return v;
}

vec3 rings(vec2 uv) {
    vec2 p = uv - 0.5;
    p.x *= RENDERSIZE.x / RENDERSIZE.y;
    float n = fbm_b(p * 4.0 + TIME * 0.1);
    float v = 0.5 + 0.5 * sin(length(p) * freq + n * 6.0 - TIME * speed);
    return v * vec3(0.3, 0.6, 1.0) + n * vec3(0.5, 0.2, 0.1);
}

void main() {
    gl_FragColor = vec4(rings(isf_FragNormCoord), 1.0);
}
