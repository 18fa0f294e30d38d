import { IsString } from 'class-validator';

export class AuthDto {
  /**
   * A JWT. Only its type is checked here: any string, even an empty one, is a token to verify,
   * so that every bad token gets invalid_token (and its close), not invalid_payload.
   */
  @IsString()
  token!: string;
}
