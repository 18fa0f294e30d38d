import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiParam } from '@nestjs/swagger';
import { RoomsService } from '../rooms/rooms.service';
import { unavailable } from './api-error';
import { SUB_PARAM, subParam } from './api-params';
import { DisconnectedBody } from './api-responses';
import { BackendApi, Route } from './api-route';
import { DEFAULT_DISCONNECT_CODE, DisconnectDto } from './dto/control.dto';

/** Acting on a user's connections, wherever they are. */
@BackendApi()
@Controller('api/v1/users')
export class ApiUsersController {
  constructor(private readonly rooms: RoomsService) {}

  @Post(':sub/disconnect')
  @HttpCode(202)
  @Route('control', 'post')
  @ApiOperation({
    summary: 'Closes every connection of a user, on every instance',
    description:
      'Each is closed with `code` and `reason`, and leaves its rooms. It may connect again with a valid token: to keep it out, stop issuing it tokens.',
  })
  @ApiParam(SUB_PARAM)
  @ApiBody({ type: DisconnectDto, required: false })
  @ApiAcceptedResponse({
    type: DisconnectedBody,
    description: 'Its connections are closing on every instance.',
  })
  async disconnect(@Param('sub') sub: string, @Body() body: DisconnectDto): Promise<DisconnectedBody> {
    const user = subParam(sub);
    const code = body.code ?? DEFAULT_DISCONNECT_CODE;
    const reason = body.reason ?? 'disconnected';
    const done = await this.rooms.control({ kind: 'disconnect', user, code, reason });
    if (done === 'unavailable') throw unavailable('Nobody was disconnected');
    return { user, code, reason };
  }
}
